{#-
    One text that changes when any tracked attribute of a product version changes (nulls
    included), built with dbt's cross-database macros so every engine compares the same thing.
-#}
{% macro version_fingerprint(relation_alias) -%}
    {%- set columns = [
        'product_name', 'product_category', 'product_description', 'unit_price',
        'rating_score', 'rating_count', 'product_image', 'catalog_status'
    ] -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce(cast(" ~ relation_alias ~ "." ~ column ~ " as " ~ dbt.type_string()
            ~ "), '<null>')"
        ) -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
