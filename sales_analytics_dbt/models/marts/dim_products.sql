with

products as (
    select * from {{ ref('stg_products') }}
),

transactions as (
    select * from {{ ref('stg_transactions') }}
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
        products.product_id,
        products.product_name,
        products.product_category,
        products.product_description,
        products.unit_price,
        products.rating_score,
        products.rating_count,
        products.product_image,
        coalesce(product_sales.total_orders, 0) as total_orders,
        cast(coalesce(product_sales.total_units_sold, 0) as bigint) as total_units_sold,
        cast(coalesce(product_sales.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        cast(
            product_sales.total_revenue / product_sales.total_orders as decimal(18, 2)
        ) as avg_order_value,
        case
            when product_sales.total_orders is null then 'No Sales'
            when product_sales.total_revenue < 1000 then 'Low'
            when product_sales.total_revenue < 5000 then 'Mid'
            else 'Top'
        end as performance_tier,
        case
            when products.unit_price < 20 then 'Budget'
            when products.unit_price < 100 then 'Mid Range'
            when products.unit_price < 500 then 'Premium'
            else 'Luxury'
        end as price_tier
    from products
    left join product_sales
        on products.product_id = product_sales.product_id
)

select * from final
