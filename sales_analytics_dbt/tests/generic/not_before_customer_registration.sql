{#-
    Rows of model whose date column_name is before the registration_date of their customer in
    customers (joined on customer_id): an order before its customer existed.
-#}
{% test not_before_customer_registration(model, column_name, customers) %}

with

facts as (
    select * from {{ model }}
),

registered as (
    select * from {{ customers }}
)

select
    facts.customer_id,
    facts.{{ column_name }},
    registered.registration_date
from facts
inner join registered
    on facts.customer_id = registered.customer_id
where facts.{{ column_name }} < registered.registration_date

{% endtest %}
