with

source as (
    select * from {{ source('raw', 'products') }}
),

renamed as (
    select
        cast(id as integer) as product_id,
        trim(title) as product_name,
        category as product_category,
        description as product_description,
        cast(price as decimal(10, 2)) as unit_price,
        cast(rating_rate as {{ type_double() }}) as rating_score,
        cast(rating_count as integer) as rating_count,
        image as product_image,
        cast(extracted_at as timestamp) as loaded_at
    from source
)

select * from renamed
