with

source as (
    select * from {{ source('raw', 'customers') }}
),

renamed as (
    select
        customer_id,
        first_name,
        last_name,
        first_name || ' ' || last_name as full_name,
        email,
        phone,
        address as street_address,
        city,
        state,
        zip_code,
        country,
        cast(registration_date as date) as registration_date,
        customer_segment,
        cast(created_at as timestamp) as loaded_at
    from source
)

select * from renamed
