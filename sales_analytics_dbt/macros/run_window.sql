{#-
    What a run is for, as Dagster passes it: the days it (re)builds, window_start up to, not
    including, window_end (its partition window), and the as-of date customer_status is measured
    from. Dagster sets them as environment variables (SALES_ANALYTICS_RUN_WINDOW_START, _END,
    SALES_ANALYTICS_RUN_AS_OF), which keep dbt's partial parse from night to night; a var of the
    same name (`dbt build --vars`, a unit test's override) takes precedence. Models and tests read
    them only through these macros, so how they reach dbt can change in one place. Without any
    (a plain `dbt build`) the window is all history and the as-of date is today.
-#}
{% macro run_window_start() -%}
    {{- var('window_start') or env_var('SALES_ANALYTICS_RUN_WINDOW_START', '1900-01-01') -}}
{%- endmacro %}

{% macro run_window_end() -%}
    {{- var('window_end') or env_var('SALES_ANALYTICS_RUN_WINDOW_END', '9999-12-31') -}}
{%- endmacro %}

{% macro in_run_window(column) -%}
    {{ column }} >= cast('{{ run_window_start() }}' as date)
    and {{ column }} < cast('{{ run_window_end() }}' as date)
{%- endmacro %}

{% macro run_as_of_date() -%}
    {%- set as_of_date = var('as_of_date') or env_var('SALES_ANALYTICS_RUN_AS_OF', '') -%}
    {%- if as_of_date -%}
        cast('{{ as_of_date }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}
