-- +goose Up
-- Refunds made in Stripe (dashboard or API) reach the order through the
-- charge.refunded webhook, found by the order's PaymentIntent.
ALTER TABLE orders ADD COLUMN stripe_payment_intent text;
ALTER TABLE orders ADD COLUMN refunded_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN refunded_at timestamptz;
ALTER TABLE orders ADD CONSTRAINT orders_refund_within_amount CHECK (refunded_amount BETWEEN 0 AND amount);
CREATE INDEX orders_payment_intent_idx ON orders (stripe_payment_intent) WHERE stripe_payment_intent IS NOT NULL;

-- +goose Down
DROP INDEX orders_payment_intent_idx;
ALTER TABLE orders DROP CONSTRAINT orders_refund_within_amount;
ALTER TABLE orders DROP COLUMN refunded_at;
ALTER TABLE orders DROP COLUMN refunded_amount;
ALTER TABLE orders DROP COLUMN stripe_payment_intent;
