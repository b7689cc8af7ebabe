{#-
    Test hook for the crash tests (sales_analytics/faults.py): when SALES_ANALYTICS_FAULT_POINT
    names this point, announce arrival in SALES_ANALYTICS_FAULT_READY_FILE, then run a query that
    never ends, so the test can kill the build inside the model's transaction. Renders nothing
    otherwise.
-#}
{% macro fault_point(name) -%}
    {%- if env_var('SALES_ANALYTICS_FAULT_POINT', '') == name -%}
        copy (select '{{ name }}' as fault_point) to '{{ env_var("SALES_ANALYTICS_FAULT_READY_FILE") }}' (format csv);
        select count(*) from range(1000000000000000) as forever(i) where i < 0
    {%- endif -%}
{%- endmacro %}
