-- PostgreSQL for the hub (Debian: apt-get install postgresql). Run as the postgres superuser:
--   sudo -u postgres psql -v password="'…a long random password…'" -f deploy/postgres/create.sql
-- The hub creates and migrates its tables itself (`hub migrate`, or at every start) as this
-- owner; nothing else needs superuser rights.
CREATE ROLE intake_hub LOGIN PASSWORD :password;
CREATE DATABASE intake_hub OWNER intake_hub ENCODING 'UTF8' TEMPLATE template0;
\connect intake_hub
ALTER SCHEMA public OWNER TO intake_hub;
-- Then, in /etc/intake-hub/secrets.env (mode 0600):
--   HUB__DATABASE__URL=postgresql+asyncpg://intake_hub:<password>@127.0.0.1:5432/intake_hub
