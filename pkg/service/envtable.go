package service

import (
	"io"

	"github.com/kelseyhightower/envconfig"
)

// envTableFormat renders the configuration as the README's Markdown table.
const envTableFormat = `| Variable | Default | Meaning |
|---|---|---|
{{range .}}| ` + "`{{usage_key .}}`" + ` | {{if usage_default .}}` + "`{{usage_default .}}`" + `{{end}} | {{usage_description .}} |
{{end}}`

// WriteEnvTable writes every environment variable of the configuration, with its default
// and meaning, as a Markdown table.
func WriteEnvTable(w io.Writer) error {
	var c Config
	return envconfig.Usagef("", &c, w, envTableFormat)
}
