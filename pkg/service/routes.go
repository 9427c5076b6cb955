package service

import (
	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
)

// DefaultRoutes is the built-in route table: the proxymod route.
func DefaultRoutes() (*route.Table, error) {
	return route.NewTable(route.Route{Name: proxymod.RouteName, Kind: "proxymod", Filter: proxymod.Route()})
}
