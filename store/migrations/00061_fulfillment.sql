-- +goose Up
-- Fulfillment: where a drop ships (Stripe Checkout then asks for a shipping
-- address in those countries) and who paid each order, as Stripe reports it.

-- ISO 3166-1 alpha-2 codes; empty: the drop sells nothing that ships.
ALTER TABLE drops ADD COLUMN shipping_countries text[] NOT NULL DEFAULT '{}';
ALTER TABLE drops ADD CONSTRAINT drops_shipping_countries_valid
    CHECK (array_to_string(shipping_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$');

-- {"email","name","phone","shipping":{"name","line1","line2","city","state","postal_code","country"}}
-- from the completed Checkout Session; NULL until then.
ALTER TABLE orders ADD COLUMN customer jsonb;

-- +goose Down
ALTER TABLE orders DROP COLUMN customer;
ALTER TABLE drops DROP COLUMN shipping_countries;
