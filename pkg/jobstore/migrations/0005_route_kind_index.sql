-- GET /scriptlog lists the jobs of every script route (route "script.<name>"), newest first.
-- With no index on the route's prefix, PostgreSQL walked the newest jobs of every kind until it
-- had a page of script jobs: at a million jobs mostly of other routes, hundreds of
-- milliseconds. This index orders each kind of route (the part of the name before its first
-- dot: "script", "proxymod") by received time, as List's order.
CREATE INDEX jobs_route_kind_received ON jobs (split_part(route, '.', 1), received_at DESC, id DESC);
