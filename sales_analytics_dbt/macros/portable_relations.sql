{#-
    A warehouse file must answer under any name: copied, renamed, or ATTACHed as another catalog.
    DuckDB names a file's catalog after the file, and dbt-duckdb writes that catalog into every
    reference, so a view's stored SQL would name "sales_analytics" and break in a copy. Models
    refer to other relations as schema.table only; DuckDB binds a view's references in the
    view's own catalog, and other engines use the connection's database, as before.
-#}
{% macro ref() -%}
    {%- do return(builtins.ref(*varargs, **kwargs).include(database=False)) -%}
{%- endmacro %}

{% macro source(source_name, table_name) -%}
    {%- do return(builtins.source(source_name, table_name).include(database=False)) -%}
{%- endmacro %}
