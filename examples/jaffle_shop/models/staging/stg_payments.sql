-- description: Payments in dollars (dbt jaffle_shop staging/stg_payments.sql)
with source as (
    select * from landing.raw_payments
),

renamed as (
    select
        id as payment_id,
        order_id,
        payment_method,
        -- `amount` is currently stored in cents, so we convert it to dollars
        amount / 100 as amount
    from source
)

select * from renamed
