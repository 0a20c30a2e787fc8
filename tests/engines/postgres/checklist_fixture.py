"""A database holding every PostgreSQL item of the dump checklist, for dump and restore tests."""

from __future__ import annotations

CHECKLIST_SCHEMA = r"""
CREATE EXTENSION citext;
CREATE EXTENSION pgcrypto;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Customers" (
    id serial PRIMARY KEY,
    email citext UNIQUE NOT NULL,
    mood mood,
    visits positive_int,
    token bytea DEFAULT gen_random_bytes(4)
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id integer REFERENCES "Sales Dept"."Customers" (id) ON DELETE CASCADE,
    total numeric(12, 2),
    placed timestamptz NOT NULL DEFAULT now(),
    note text
);
COMMENT ON TABLE orders IS 'one row per order';
CREATE INDEX orders_placed ON orders (placed DESC, customer_id);
CREATE SEQUENCE invoice_numbers START 1000;
SELECT setval('invoice_numbers', 5000);
CREATE FUNCTION default_total() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.total := coalesce(NEW.total, 0);
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_default_total BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION default_total();
-- Never called here (PostgreSQL 15 knows no transaction_timeout): its body holds a line that reads like the
-- dump header's setting a server before 17 rejects, which the backup must keep.
CREATE FUNCTION relax_timeouts() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
SET transaction_timeout = 0;
END
$$;
CREATE FUNCTION order_count(customer integer) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM public.orders WHERE customer_id = customer $$;
-- pg_dump writes this comment's lines as they are: the backup must not take them for a COPY block.
COMMENT ON FUNCTION order_count(integer) IS E'Reads like a dump, is not one:\n--\n'
    '-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: -\n--\n\n'
    'COPY "public"."orders" ("id") FROM stdin;\n7\n\\.\n';
INSERT INTO "Sales Dept"."Customers" (email, mood, visits)
    VALUES ('Ann@Example.com', 'happy', 3), ('bob@example.com', 'sad', 1), ('cy@example.com', NULL, NULL),
           ('gone@example.com', 'ok', 9);
DELETE FROM "Sales Dept"."Customers" WHERE email = 'gone@example.com';
SELECT setval(pg_get_serial_sequence('"Sales Dept"."Customers"', 'id'), 40);
INSERT INTO orders (customer_id, total, note)
    VALUES (1, 12.50, E'tab\there, newline\nthere, backslash \\ end'), (1, NULL, 'BEGIN;'), (2, 99.99, '\.');
CREATE VIEW customer_totals AS
    SELECT c.id, c.email, coalesce(sum(o.total), 0) AS total
    FROM "Sales Dept"."Customers" c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email;
CREATE VIEW big_customers AS SELECT * FROM customer_totals WHERE total > 10;
CREATE VIEW "Big Names" AS SELECT email FROM big_customers;
CREATE MATERIALIZED VIEW order_stats AS SELECT customer_id, count(*) AS orders FROM orders GROUP BY 1;
SELECT lo_from_bytea(0, '\x00ff10'::bytea);
SELECT lo_from_bytea(0, convert_to(repeat('large object ', 5000), 'UTF8'));
"""

EXPECTED_ROWS = {"Sales Dept.Customers": 3, "public.orders": 3}
