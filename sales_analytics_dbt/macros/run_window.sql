{#-
    What a run is for, as Dagster passes it: the days it (re)builds, window_start up to, not
    including, window_end (its partition window), and the as-of date customer_status is measured
    from. Models and tests read them only through these macros, so how they reach dbt can change
    in one place. Without them (a plain `dbt build`) the window is all history and the as-of date
    is today.
-#}
{% macro in_run_window(column) -%}
    {{ column }} >= cast('{{ var("window_start") }}' as date)
    and {{ column }} < cast('{{ var("window_end") }}' as date)
{%- endmacro %}

{% macro run_as_of_date() -%}
    {%- set as_of_date = var('as_of_date') -%}
    {%- if as_of_date -%}
        cast('{{ as_of_date }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}
