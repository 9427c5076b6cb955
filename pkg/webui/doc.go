// Package webui serves the jobs web page at /ui/: a dashboard of the jobs by route and
// state, the list of jobs with the filters and paging of GET /jobs, a page per job (its
// event, attempts, outputs and log, which refreshes while the job runs), the script log,
// and, for operators, cancel, retry and bulk retry.
//
// The pages are rendered on the server with html/template (everything that comes from an
// event or a job is escaped), need no external asset and work without JavaScript; a small
// script, allowed by a per-response nonce in a strict Content-Security-Policy, refreshes a
// running job's log. Reading takes the status API's read credentials (or the operator
// credentials); the operator forms are POSTs refused when they come from another origin
// (Sec-Fetch-Site and Origin, net/http's CrossOriginProtection) and when they lack a token
// bound to the operator's credentials.
package webui
