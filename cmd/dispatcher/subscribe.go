package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/pacifica"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// runSubscribe registers the service's routes with Pacifica notifications: one
// subscription per route, named after it, with the route's own jsonpath2 text.
func runSubscribe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("subscribe", flag.ContinueOnError)
	target := fs.String("url", "", "the public URL of this service's receiver, e.g. http://dispatcher:8069/receive")
	user := fs.String("user", "dispatcher", "the notifications user that owns the subscriptions (Http-Remote-User)")
	basic := fs.String("auth-basic", "", "USER:PASSWORD that notifications sends with each delivery (basic)")
	header := fs.String("auth-header", "", `"TYPE CREDENTIALS" that notifications sends as the Authorization header`)
	list := fs.Bool("list", false, "list the user's subscriptions and exit")
	remove := fs.Bool("remove", false, "remove the subscriptions of this service's routes and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: dispatcher subscribe --url URL [--user NAME] [--auth-basic USER:PASS | --auth-header \"TYPE CREDS\"]")
		fmt.Fprintln(fs.Output(), "       dispatcher subscribe --list | --remove [--user NAME]")
		fmt.Fprintln(fs.Output())
		fmt.Fprintln(fs.Output(), "Registers one notifications subscription per route (GET /routes lists them), named")
		fmt.Fprintln(fs.Output(), "after the route, with the route's jsonpath2 filter. Running it again updates the")
		fmt.Fprintln(fs.Output(), "subscriptions in place and re-enables any that notifications disabled. Without")
		fmt.Fprintln(fs.Output(), "--auth-basic/--auth-header, the subscriptions carry the sender credentials the")
		fmt.Fprintln(fs.Output(), "receivers demand (RECEIVER_AUTH_*), when they are configured.")
		fmt.Fprintln(fs.Output(), "NOTIFICATIONS_URL and the AUTHENTICATION_* variables say how to reach notifications.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, code, done := parseFlags(fs, args, stdout, stderr)
	if done {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "subscribe: unexpected argument %q\n", pos[0])
		return 2
	}
	var auth *pacifica.SubscriptionAuth
	switch {
	case *basic != "" && *header != "":
		fmt.Fprintln(stderr, "subscribe: give --auth-basic or --auth-header, not both")
		return 2
	case *basic != "":
		u, p, ok := strings.Cut(*basic, ":")
		if !ok || u == "" || p == "" {
			fmt.Fprintln(stderr, "subscribe: --auth-basic wants USER:PASSWORD")
			return 2
		}
		auth = pacifica.NewBasicAuth(u, p)
	case *header != "":
		a, err := pacifica.ParseHeaderAuth(*header)
		if err != nil {
			fmt.Fprintln(stderr, "subscribe: --auth-header:", err)
			return 2
		}
		auth = a
	}
	if !*list && !*remove && *target == "" {
		fmt.Fprintln(stderr, "subscribe: --url is required (the receiver's public URL)")
		return 2
	}
	cfg, err := service.Load()
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	pc, err := pacifica.New(cfg.PacificaConfig)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	routes, _, err := service.LoadRoutes(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n := pc.Notifications
	if *list {
		existing, err := n.List(ctx, *user)
		if err != nil {
			fmt.Fprintln(stderr, "dispatcher:", err)
			return 1
		}
		for _, s := range existing {
			state := "enabled"
			if s.IsDisabled() {
				state = "DISABLED: " + string(s.Error)
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", s.UUID, s.Name, s.TargetURL, state)
		}
		return 0
	}
	if auth == nil {
		// Without a flag, the credentials this service's receivers demand of senders: a
		// subscription without them would be refused at its first delivery.
		auth = service.SenderSubscriptionAuth(cfg)
	}
	plan := service.SubscriptionPlan(routes, *user, *target, auth)
	var results []pacifica.SubscriptionResult
	if *remove {
		results, err = n.Remove(ctx, plan)
	} else {
		results, err = n.Reconcile(ctx, plan)
	}
	for _, r := range results {
		switch r.Action {
		case pacifica.SubscriptionAbsent:
			fmt.Fprintf(stdout, "%s: no subscription\n", r.Name)
		case pacifica.SubscriptionRemoved:
			fmt.Fprintf(stdout, "%s: removed %s\n", r.Name, r.UUID)
		case pacifica.SubscriptionReenabled:
			fmt.Fprintf(stdout, "%s: re-enabled (it was disabled: %s) %s -> %s\n", r.Name, r.WasError, r.UUID, r.Subscription.TargetURL)
		default:
			fmt.Fprintf(stdout, "%s: %s %s -> %s\n", r.Name, r.Action, r.UUID, r.Subscription.TargetURL)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	return 0
}
