-- +goose Up
-- Drops, their products and variants, and stock per variant. Money is an
-- integer number of minor units (cents) in the drop's ISO 4217 currency.

CREATE TABLE drops (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    currency    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT drops_slug_key UNIQUE (slug),
    -- A slug is never all digits, so /api/drops/{id-or-slug} is unambiguous.
    CONSTRAINT drops_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$' AND slug !~ '^[0-9]+$'),
    CONSTRAINT drops_title_length CHECK (length(title) BETWEEN 1 AND 200),
    CONSTRAINT drops_window CHECK (ends_at > starts_at),
    CONSTRAINT drops_currency_format CHECK (currency ~ '^[A-Z]{3}$')
);

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    drop_id     bigint NOT NULL REFERENCES drops (id) ON DELETE CASCADE,
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    images      text[] NOT NULL DEFAULT '{}',
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT products_title_length CHECK (length(title) BETWEEN 1 AND 200),
    -- Lets cards reference (drop_id, product_id) so a card can only show a
    -- product of its own drop.
    CONSTRAINT products_drop_id_id_key UNIQUE (drop_id, id)
);
CREATE INDEX products_drop_id_idx ON products (drop_id, position, id);

CREATE TABLE variants (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku        text NOT NULL,
    label      text NOT NULL,
    price      bigint NOT NULL,
    position   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT variants_sku_key UNIQUE (sku),
    CONSTRAINT variants_sku_format CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    CONSTRAINT variants_label_length CHECK (length(label) BETWEEN 1 AND 64),
    CONSTRAINT variants_price_positive CHECK (price > 0),
    CONSTRAINT variants_product_id_id_key UNIQUE (product_id, id)
);
CREATE INDEX variants_product_id_idx ON variants (product_id, position, id);

-- Stock of one variant: available can be sold now. Later migrations add
-- reservations and sales on top; the check keeps it from ever going negative.
CREATE TABLE stock (
    variant_id bigint PRIMARY KEY REFERENCES variants (id) ON DELETE CASCADE,
    available  integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stock_available_nonnegative CHECK (available >= 0)
);

-- +goose Down
DROP TABLE stock;
DROP TABLE variants;
DROP TABLE products;
DROP TABLE drops;
