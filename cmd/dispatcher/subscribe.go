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
	fs.SetOutput(stderr)
	target := fs.String("url", "", "the public URL of this service's receiver, e.g. http://dispatcher:8069/receive")
	user := fs.String("user", "dispatcher", "the notifications user that owns the subscriptions (Http-Remote-User)")
	basic := fs.String("auth-basic", "", "USER:PASSWORD that notifications sends with each delivery (basic)")
	header := fs.String("auth-header", "", `"TYPE CREDENTIALS" that notifications sends as the Authorization header`)
	list := fs.Bool("list", false, "list the user's subscriptions and exit")
	remove := fs.Bool("remove", false, "remove the subscriptions of this service's routes and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dispatcher subscribe --url URL [--user NAME] [--auth-basic USER:PASS | --auth-header \"TYPE CREDS\"]")
		fmt.Fprintln(stderr, "       dispatcher subscribe --list | --remove [--user NAME]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Registers one notifications subscription per route (GET /routes lists them), named")
		fmt.Fprintln(stderr, "after the route, with the route's jsonpath2 filter. Running it again updates the")
		fmt.Fprintln(stderr, "subscriptions in place and re-enables any that notifications disabled.")
		fmt.Fprintln(stderr, "NOTIFICATIONS_URL and the AUTHENTICATION_* variables say how to reach notifications.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitCodeForFlagError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "subscribe: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var auth *pacifica.SubscriptionAuth
	switch {
	case *basic != "" && *header != "":
		fmt.Fprintln(stderr, "subscribe: give --auth-basic or --auth-header, not both")
		return 2
	case *basic != "":
		u, p, ok := strings.Cut(*basic, ":")
		if !ok || u == "" {
			fmt.Fprintln(stderr, "subscribe: --auth-basic wants USER:PASSWORD")
			return 2
		}
		auth = &pacifica.SubscriptionAuth{Type: "basic"}
		auth.Basic = &struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{u, p}
	case *header != "":
		typ, creds, ok := strings.Cut(strings.TrimSpace(*header), " ")
		if !ok || typ == "" || strings.TrimSpace(creds) == "" {
			fmt.Fprintln(stderr, `subscribe: --auth-header wants "TYPE CREDENTIALS", e.g. "Bearer abc"`)
			return 2
		}
		auth = &pacifica.SubscriptionAuth{Type: "header"}
		auth.Header = &struct {
			Type        string `json:"type"`
			Credentials string `json:"credentials"`
		}{typ, strings.TrimSpace(creds)}
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
	existing, err := n.List(ctx, *user)
	if err != nil {
		fmt.Fprintln(stderr, "dispatcher:", err)
		return 1
	}
	byName := map[string]pacifica.Subscription{}
	for _, s := range existing {
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = s
		}
	}
	if *list {
		for _, s := range existing {
			state := "enabled"
			if s.IsDisabled() {
				state = "DISABLED: " + string(s.Error)
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", s.UUID, s.Name, s.TargetURL, state)
		}
		return 0
	}
	for _, r := range routes.Routes() {
		cur, ok := byName[r.Name]
		switch {
		case *remove && !ok:
			fmt.Fprintf(stdout, "%s: no subscription\n", r.Name)
		case *remove:
			if err := n.Delete(ctx, *user, cur.UUID); err != nil {
				fmt.Fprintln(stderr, "dispatcher:", err)
				return 1
			}
			fmt.Fprintf(stdout, "%s: removed %s\n", r.Name, cur.UUID)
		case !ok:
			s, err := n.Create(ctx, *user, pacifica.Subscription{Name: r.Name, JSONPath: r.Filter.String(),
				TargetURL: *target, Auth: auth})
			if err != nil {
				fmt.Fprintln(stderr, "dispatcher:", err)
				return 1
			}
			fmt.Fprintf(stdout, "%s: created %s -> %s\n", r.Name, s.UUID, s.TargetURL)
		default:
			patch := map[string]any{"jsonpath": r.Filter.String(), "target_url": *target}
			if auth != nil {
				patch["auth"] = auth
			}
			what := "updated"
			if cur.IsDisabled() {
				patch["disabled"], patch["error"] = nil, nil
				what = "re-enabled (it was disabled: " + string(cur.Error) + ")"
			}
			if _, err := n.Update(ctx, *user, cur.UUID, patch); err != nil {
				fmt.Fprintln(stderr, "dispatcher:", err)
				return 1
			}
			fmt.Fprintf(stdout, "%s: %s %s -> %s\n", r.Name, what, cur.UUID, *target)
		}
	}
	return 0
}
