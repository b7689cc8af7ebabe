{#-
    Types and expressions that differ between engines (DuckDB here, Spark and PostgreSQL on the
    growth path), where dbt's cross-database macros have none.
-#}

{#- A 64-bit float. dbt.type_float() is FLOAT, which DuckDB reads as 32-bit (4.1 -> 4.0999999). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}

{#-
    Weekday name of a date. Engines number weekdays differently (DuckDB and PostgreSQL: 0 is
    Sunday; Spark: 1 is Sunday) and name them differently (Spark's dayname is "Thu"), so count
    days from a known Monday (1900-01-01) with dbt's cross-database datediff.
-#}
{% macro day_of_week_name(date_expression) -%}
    case mod({{ dbt.datediff("cast('1900-01-01' as date)", date_expression, 'day') }}, 7)
        when 0 then 'Monday'
        when 1 then 'Tuesday'
        when 2 then 'Wednesday'
        when 3 then 'Thursday'
        when 4 then 'Friday'
        when 5 then 'Saturday'
        else 'Sunday'
    end
{%- endmacro %}

{#-
    numerator / denominator as DECIMAL(18, 2), rounded half up at the cent, for a non-negative
    numerator and a positive denominator (money over a count); null when the denominator is
    null or 0. DuckDB divides DECIMALs in DOUBLE (0.29 / 2 = 0.14499..., a cent below Spark and
    PostgreSQL), so the division is done on whole cents with integer division, which is exact
    on every engine.
-#}
{% macro money_ratio(numerator, denominator) -%}
    {%- set cents = 'cast((' ~ numerator ~ ') * 100 as bigint)' -%}
    {%- set divisor = 'nullif(cast(' ~ denominator ~ ' as bigint), 0)' -%}
    cast(
        cast(
            {{ integer_divide('2 * ' ~ cents ~ ' + ' ~ divisor, '2 * ' ~ divisor) }}
            as decimal(18, 0)
        ) * 0.01 as decimal(18, 2)
    )
{%- endmacro %}

{#- a / b rounded towards zero, for whole numbers (DuckDB's / on integers gives a DOUBLE). -#}
{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    ({{ dividend }}) / ({{ divisor }})
{%- endmacro %}

{% macro duckdb__integer_divide(dividend, divisor) -%}
    ({{ dividend }}) // ({{ divisor }})
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    ({{ dividend }}) div ({{ divisor }})
{%- endmacro %}

{#-
    The marts' contracts name DuckDB's types (_marts.yml), and Spark has all of them but
    `varchar`, which it only knows with a length: there a contract's varchar is checked as
    Spark's `string`. dbt builds the contract's expected schema with this macro, so the YAML
    stays one file for both engines, still enforced on both.
-#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = {} -%}
        {%- do column.update(columns[name]) -%}
        {%- if (column.get('data_type') or '').strip().lower() == 'varchar' -%}
            {%- do column.update({'data_type': 'string'}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(dbt.default__get_empty_schema_sql(translated)) }}
{% endmacro %}
