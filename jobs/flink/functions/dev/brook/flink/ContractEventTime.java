package dev.brook.flink;

import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code brook_event_ms(message, spec)}: the event time of a message the contract accepts, in epoch
 * milliseconds, or NULL when it refuses it: what the source's event-time column and watermark need,
 * without building the verdict's array (see {@link ContractVerdict}, whose verdict it shares).
 */
public final class ContractEventTime extends ScalarFunction {
  private static final long serialVersionUID = 1L;

  public Long eval(String message, String spec) {
    return message == null ? null : ContractVerdict.eventMillis(message, spec);
  }

  @Override
  public boolean isDeterministic() {
    return false;
  }
}
