-- GET /scriptlog lists the script jobs (routes "script.<name>") newest first. The index on the
-- route's kind (0005) could serve it, but PostgreSQL's estimates made it prefer walking the
-- newest jobs of every route and filtering them: fast while script jobs are among the newest,
-- tens of milliseconds at a million jobs when the newest tens of thousands are of another
-- route. This partial index holds the script jobs alone, in the listing's order, so that the
-- listing reads exactly its page whatever the other routes do; the other jobs are not written
-- into it at all. List names the prefix in the query's text, which lets any plan use it.
CREATE INDEX jobs_script_received ON jobs (received_at DESC, id DESC) WHERE starts_with(route, 'script.');
DROP INDEX jobs_route_kind_received;
