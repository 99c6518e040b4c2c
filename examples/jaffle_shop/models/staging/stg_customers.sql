-- description: Customers, renamed (dbt jaffle_shop staging/stg_customers.sql)
with source as (
    select * from landing.raw_customers
),

renamed as (
    select
        id as customer_id,
        first_name,
        last_name
    from source
)

select * from renamed
