{# Schemas <target schema>_staging and <target schema>_marts (dbt's default), spelled out so the audit and the
   tests can name them: jobs.cinema.marts.schema(). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
