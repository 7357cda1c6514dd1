-- The demo's target database: a small shop with the kinds of values the gateway masks.
-- Used by scripts/demo and by the compose stack's orders-db (docker-entrypoint-initdb.d).
CREATE TABLE customers (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    email       text NOT NULL,
    phone       text,
    card_number text,
    national_id text,
    status      text NOT NULL DEFAULT 'active'
);

CREATE TABLE orders (
    id          integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    total_cents integer NOT NULL,
    status      text NOT NULL DEFAULT 'paid',
    placed_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (id, name, email, phone, card_number, national_id, status) VALUES
    (1, 'Jane Roe',      'jane.roe@example.com',     '+1 415 555 0134', '4111 1111 1111 1111', '078-05-1120', 'active'),
    (2, 'Bob Stone',     'bob.stone@example.org',    '+1 212 555 0199', '5500-0000-0000-0004', '219-09-9999', 'active'),
    (3, 'Amara Okafor',  'amara@example.net',        '+44 20 7946 0958', '3782 822463 10005',  NULL,          'active'),
    (4, 'Luis Ortega',   'l.ortega@example.com',     '+34 912 345 678', '6011 1111 1111 1117', NULL,          'suspended'),
    (5, 'Mei Chen',      'mei.chen@example.com',     '+1 646 555 0102', '4012 8888 8888 1881', '123-45-6789', 'active');

INSERT INTO orders (id, customer_id, total_cents, status, placed_at) VALUES
    (101, 1,  4999, 'paid',     now() - interval '3 days'),
    (102, 2, 12900, 'paid',     now() - interval '2 days'),
    (103, 2,  2500, 'refund requested', now() - interval '1 day'),
    (104, 3,  7450, 'paid',     now() - interval '5 hours'),
    (105, 5,   999, 'shipped',  now() - interval '1 hour');
