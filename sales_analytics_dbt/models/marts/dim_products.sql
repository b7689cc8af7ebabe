with

product_versions as (
    select * from {{ ref('product_history') }}
),

catalog as (
    select * from {{ ref('stg_products') }}
),

transactions as (
    select * from {{ ref('stg_transactions') }}
),

-- Every product ever seen, with its latest attributes (a retired product keeps its last ones).
latest_versions as (
    select *
    from (
        select
            product_versions.*,
            row_number() over (
                partition by product_versions.product_id
                order by product_versions.valid_from desc
            ) as version_rank
        from product_versions
    ) as ranked
    where version_rank = 1
),

product_sales as (
    select
        product_id,
        count(*) as total_orders,
        sum(quantity) as total_units_sold,
        sum(total_amount) as total_revenue
    from transactions
    group by product_id
),

final as (
    select
        latest_versions.product_id,
        latest_versions.product_name,
        latest_versions.product_category,
        latest_versions.product_description,
        cast(latest_versions.unit_price as decimal(18, 2)) as unit_price,
        latest_versions.rating_score,
        latest_versions.rating_count,
        latest_versions.product_image,
        case
            when catalog.product_id is null then 'Retired' else 'Available'
        end as catalog_status,
        coalesce(product_sales.total_orders, 0) as total_orders,
        cast(coalesce(product_sales.total_units_sold, 0) as bigint) as total_units_sold,
        cast(coalesce(product_sales.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        {{ money_ratio('product_sales.total_revenue', 'product_sales.total_orders') }}
            as avg_order_value,
        case
            when product_sales.total_orders is null then 'No Sales'
            when product_sales.total_revenue < 1000 then 'Low'
            when product_sales.total_revenue < 5000 then 'Mid'
            else 'Top'
        end as performance_tier,
        case
            when latest_versions.unit_price < 20 then 'Budget'
            when latest_versions.unit_price < 100 then 'Mid Range'
            when latest_versions.unit_price < 500 then 'Premium'
            else 'Luxury'
        end as price_tier
    from latest_versions
    left join catalog
        on latest_versions.product_id = catalog.product_id
    left join product_sales
        on latest_versions.product_id = product_sales.product_id
)

select * from final
