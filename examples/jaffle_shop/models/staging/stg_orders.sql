-- description: Orders, renamed (dbt jaffle_shop staging/stg_orders.sql)
with source as (
    select * from landing.raw_orders
),

renamed as (
    select
        id as order_id,
        user_id as customer_id,
        order_date,
        status
    from source
)

select * from renamed
