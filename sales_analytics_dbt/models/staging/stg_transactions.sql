with

source as (
    select * from {{ source('raw', 'transactions') }}
),

renamed as (
    select
        transaction_id,
        cast(transaction_date as timestamp) as transaction_timestamp,
        cast(transaction_date as date) as transaction_date,
        customer_id,
        cast(product_id as integer) as product_id,
        trim(product_title) as product_name,
        category as product_category,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(total_amount as decimal(10, 2)) as total_amount,
        cast(extracted_at as timestamp) as loaded_at
    from source
)

select * from renamed
