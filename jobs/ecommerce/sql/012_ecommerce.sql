-- E-commerce batch (seed 003, docs/ecommerce.md): one day's logs from object storage → these tables, replaced per
-- date in one transaction by jobs.ecommerce.batch. Counts and exact numerics only (rates are views), so the batch,
-- its independent recount and the audit compare for equality.

-- What the batch read: rows per file, and how many it accepted (the rest are in ecommerce_rejects).
CREATE TABLE IF NOT EXISTS ecommerce_intake (
    date      date   NOT NULL,
    source    text   NOT NULL,  -- orders, order_lines, views, returns
    rows      bigint NOT NULL,
    accepted  bigint NOT NULL,
    PRIMARY KEY (date, source)
);

-- Rejected rows per reason (jobs/ecommerce/contract.py: one reason per row, the first broken rule).
CREATE TABLE IF NOT EXISTS ecommerce_rejects (
    date    date   NOT NULL,
    source  text   NOT NULL,
    reason  text   NOT NULL,
    rows    bigint NOT NULL,
    PRIMARY KEY (date, source, reason)
);

-- Revenue of accepted order lines by category and the UTC hour of their order.
CREATE TABLE IF NOT EXISTS ecommerce_revenue (
    date         date          NOT NULL,
    category     text          NOT NULL,
    hour         smallint      NOT NULL CHECK (hour BETWEEN 0 AND 23),
    order_lines  bigint        NOT NULL,
    units        bigint        NOT NULL,
    revenue      numeric(16,2) NOT NULL,
    PRIMARY KEY (date, category, hour)
);

-- View → order conversion per category (and 'ALL'): customers who viewed, and those of them who ordered that day.
CREATE TABLE IF NOT EXISTS ecommerce_conversion (
    date       date   NOT NULL,
    category   text   NOT NULL,
    views      bigint NOT NULL,
    viewers    bigint NOT NULL,  -- distinct customers with a view
    orders     bigint NOT NULL,  -- distinct orders (with a line in the category)
    converted  bigint NOT NULL,  -- distinct viewers who also ordered (in the category)
    PRIMARY KEY (date, category)
);

-- The day's Top-N products by revenue (ties: product_id ascending).
CREATE TABLE IF NOT EXISTS ecommerce_top_products (
    date        date          NOT NULL,
    rank        smallint      NOT NULL,
    product_id  text          NOT NULL,
    category    text          NOT NULL,
    units       bigint        NOT NULL,
    revenue     numeric(16,2) NOT NULL,
    PRIMARY KEY (date, rank)
);

-- Returns received on the date per category, next to the units sold that day (rate = returned_units / sold_units).
CREATE TABLE IF NOT EXISTS ecommerce_returns (
    date            date   NOT NULL,
    category        text   NOT NULL,
    returns         bigint NOT NULL,
    returned_units  bigint NOT NULL,
    sold_units      bigint NOT NULL,
    PRIMARY KEY (date, category)
);

-- Who ordered on which day: the cohort's memory. A one-day batch replaces its date's rows; first orders and
-- retention are derived from the whole table, so days may be (re)processed in any order.
CREATE TABLE IF NOT EXISTS ecommerce_customer_days (
    customer_id  text   NOT NULL,
    date         date   NOT NULL,
    orders       bigint NOT NULL,
    PRIMARY KEY (customer_id, date)
);
CREATE INDEX IF NOT EXISTS ecommerce_customer_days_date ON ecommerce_customer_days (date);

-- 7-day cohort retention: customers whose first order was on cohort_date and who ordered again day_offset days later.
CREATE OR REPLACE VIEW ecommerce_cohort_retention AS
WITH first AS (
    SELECT customer_id, min(date) AS cohort_date FROM ecommerce_customer_days GROUP BY customer_id
), sizes AS (
    SELECT cohort_date, count(*) AS cohort_size FROM first GROUP BY cohort_date
)
SELECT f.cohort_date, (d.date - f.cohort_date) AS day_offset, count(*) AS customers, s.cohort_size,
       round(count(*)::numeric / s.cohort_size, 4) AS retention
FROM first f
JOIN ecommerce_customer_days d ON d.customer_id = f.customer_id AND d.date - f.cohort_date BETWEEN 0 AND 7
JOIN sizes s ON s.cohort_date = f.cohort_date
GROUP BY f.cohort_date, d.date - f.cohort_date, s.cohort_size;

CREATE OR REPLACE VIEW ecommerce_rates AS
SELECT c.date, c.category, c.viewers, c.converted,
       CASE WHEN c.viewers > 0 THEN round(c.converted::numeric / c.viewers, 4) END AS conversion_rate,
       r.returned_units, r.sold_units,
       CASE WHEN r.sold_units > 0 THEN round(r.returned_units::numeric / r.sold_units, 4) END AS return_rate
FROM ecommerce_conversion c LEFT JOIN ecommerce_returns r USING (date, category);
