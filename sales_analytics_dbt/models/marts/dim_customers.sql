{%- set days_since_last_order = dbt.datediff(
    'customer_orders.last_order_date', 'as_of.as_of_date', 'day'
) -%}

with

customers as (
    select * from {{ ref('stg_customers') }}
),

transactions as (
    select * from {{ ref('stg_transactions') }}
),

customer_orders as (
    select
        customer_id,
        count(*) as total_orders,
        sum(total_amount) as lifetime_value,
        min(transaction_date) as first_order_date,
        max(transaction_date) as last_order_date
    from transactions
    group by customer_id
),

as_of as (
    select
        {{ run_as_of_date() }} as as_of_date
),

final as (
    select
        customers.customer_id,
        customers.first_name,
        customers.last_name,
        customers.full_name,
        customers.email,
        customers.phone,
        customers.street_address,
        customers.city,
        customers.state,
        customers.zip_code,
        customers.country,
        customers.registration_date,
        customers.customer_segment,
        coalesce(customer_orders.total_orders, 0) as total_orders,
        cast(coalesce(customer_orders.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        {{ money_ratio('customer_orders.lifetime_value', 'customer_orders.total_orders') }}
            as avg_order_value,
        customer_orders.first_order_date,
        customer_orders.last_order_date,
        case
            when customer_orders.total_orders is null then 'Never Purchased'
            when customer_orders.total_orders = 1 then 'One Time'
            when customer_orders.total_orders <= 5 then 'Occasional'
            else 'Frequent'
        end as purchase_frequency,
        case
            when customer_orders.last_order_date is null then 'Never Purchased'
            when {{ days_since_last_order }} <= 30 then 'Active'
            when {{ days_since_last_order }} <= 90 then 'At Risk'
            else 'Churned'
        end as customer_status,
        as_of.as_of_date as status_as_of_date
    from customers
    cross join as_of
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id
)

select * from final
