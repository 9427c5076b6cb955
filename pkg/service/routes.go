package service

import (
	"fmt"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/proxymod"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/route"
	"github.com/pacifica/pacifica-dispatcher-go/pkg/scripts"
)

// DefaultRoutes is the built-in route table: the proxymod route.
func DefaultRoutes() (*route.Table, error) {
	return route.NewTable(proxymod.Routes()...)
}

// LoadRoutes reads the scripts of SCRIPT_DIR (configured by DISPATCHER_K8S_CONFIG) and
// returns the route table of the configuration: the proxymod route, then one route per
// script in name order, with the scripts. A script whose configuration is wrong (a filter
// that does not parse, a bad output directory) is an error naming it.
func LoadRoutes(c Config) (*route.Table, []scripts.Script, error) {
	scr, err := scripts.Load(c.ScriptDir, c.ScriptConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("scripts (SCRIPT_DIR %s, DISPATCHER_K8S_CONFIG %s): %w", c.ScriptDir, c.ScriptConfig, err)
	}
	rs, err := scripts.Routes(scr)
	if err != nil {
		return nil, nil, err
	}
	t, err := route.NewTable(append(proxymod.Routes(), rs...)...)
	if err != nil {
		return nil, nil, err
	}
	return t, scr, nil
}
