{#-
    On Spark the raw tables are Parquet files that Dagster lands in the lake (core/lake.py);
    nothing registers them in Spark's metastore but this hook, run at the start of every dbt
    command on a Spark target: each raw table is created once over its folder, and the
    transactions' day folders (transaction_day=YYYY-MM-DD, a partition column Spark infers) are
    (re)discovered, since Dagster adds days without Spark. The
    lake is SALES_ANALYTICS_LAKE_PATH, resolved as profiles.yml resolves it. Nothing on DuckDB,
    where the raw tables are the warehouse file's own.
-#}
{% macro lake_path() -%}
    {%- set lake = env_var('SALES_ANALYTICS_LAKE_PATH', 'data/lake') -%}
    {%- if lake.startswith('/') or '://' in lake -%}
        {{ lake }}
    {%- else -%}
        {{ (flags.PROFILES_DIR | string) ~ '/../' ~ lake }}
    {%- endif -%}
{%- endmacro %}

{% macro register_lake_sources() -%}
    {%- if target.type == 'spark' and execute -%}
        {%- set raw = lake_path() ~ '/raw' -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- for table in ['customers', 'products'] -%}
            {%- do run_query(
                "create table if not exists raw." ~ table ~ " using parquet location '"
                ~ raw ~ "/" ~ table ~ "'"
            ) -%}
            {%- do run_query('refresh table raw.' ~ table) -%}
        {%- endfor -%}
        {%- do run_query(
            "create table if not exists raw.transactions using parquet location '"
            ~ raw ~ "/transactions'"
        ) -%}
        {%- do run_query('msck repair table raw.transactions') -%}
        {%- do run_query('refresh table raw.transactions') -%}
    {%- endif -%}
{%- endmacro %}
