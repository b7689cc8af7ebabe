{#-
    Every version of every product the catalog has served, one row per change (slowly changing
    type 2, append-only): a row when a product first appears, when any attribute or its price
    changes, when the catalog stops serving it (catalog_status 'Retired', last attributes kept),
    and when it comes back. A version is valid from valid_from until the next version's.

    Append-only on purpose: it builds the same way on DuckDB and on Spark's plain Parquet
    tables, where dbt snapshots and merges need Delta or Hudi. full_refresh is off, so
    `dbt build --full-refresh` cannot erase the history of products the API no longer serves.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail'
    )
}}

with

catalog as (
    select * from {{ ref('stg_products') }}
),

observed as (
    select max(loaded_at) as observed_at from catalog
),

served as (
    select
        catalog.product_id,
        catalog.product_name,
        catalog.product_category,
        catalog.product_description,
        catalog.unit_price,
        catalog.rating_score,
        catalog.rating_count,
        catalog.product_image,
        'Available' as catalog_status,
        observed.observed_at as valid_from
    from catalog
    cross join observed
),

{% if is_incremental() %}

latest as (
    select *
    from (
        select
            history.*,
            row_number() over (
                partition by history.product_id order by history.valid_from desc
            ) as version_rank
        from {{ this }} as history
    ) as ranked
    where version_rank = 1
),

retired as (
    select
        latest.product_id,
        latest.product_name,
        latest.product_category,
        latest.product_description,
        latest.unit_price,
        latest.rating_score,
        latest.rating_count,
        latest.product_image,
        'Retired' as catalog_status,
        observed.observed_at as valid_from
    from latest
    cross join observed
    left join catalog
        on latest.product_id = catalog.product_id
    where
        latest.catalog_status = 'Available'
        and catalog.product_id is null
),

versions as (
    select served.*
    from served
    left join latest
        on served.product_id = latest.product_id
    where
        latest.product_id is null
        or {{ version_fingerprint('served') }} != {{ version_fingerprint('latest') }}
    union all
    select * from retired
),

{% else %}

versions as (
    select * from served
),

{% endif %}

final as (
    select
        product_id,
        product_name,
        product_category,
        product_description,
        unit_price,
        rating_score,
        rating_count,
        product_image,
        catalog_status,
        valid_from
    from versions
)

select * from final
