package proxymod

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/event"
)

func sampleIngest(t *testing.T, vs ...variation) *event.Ingest {
	t.Helper()
	s := sampleEventText(t)
	for _, v := range vs {
		s = v(t, s)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(s), &env); err != nil {
		t.Fatal(err)
	}
	in, err := event.ParseIngest(env.Data)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestPlanOfTheSampleEvent(t *testing.T) {
	p, err := NewPlan(sampleIngest(t))
	if err != nil {
		t.Fatal(err)
	}
	var ids, models, inputs []string
	for _, c := range p.Configs {
		ids = append(ids, c.ID)
	}
	for _, m := range p.Models {
		models = append(models, m.File.Path()+":"+m.Function)
	}
	for _, f := range p.Inputs {
		inputs = append(inputs, f.Path())
	}
	if got := strings.Join(ids, ","); got != "config_1,config_2,config_3" {
		t.Errorf("configs %s", got)
	}
	if got := strings.Join(models, ","); got != "models/loose_coupling.py:loose_coupling,models/tight_coupling_twoway.py:tight_coupling_twoway,models/tight_coupling.py:tight_coupling" {
		t.Errorf("models in event order: %s", got)
	}
	if got := strings.Join(inputs, ","); got != "inputs/in_file_one.csv,inputs/in_file_two.csv" {
		t.Errorf("inputs %s", got)
	}
	want1 := "[PROJECT]\nruntime = 2\nfailure = 0\n[INPUTS]\nin_dir = inputs/\nin_file_one = in_file_one.csv\nin_file_two = in_file_two.csv\n[OUTPUTS]\nout_dir = outputs/\n"
	if got := p.Configs[0].INI(); got != want1 {
		t.Errorf("config_1.ini as given:\n%s\nwant:\n%s", got, want1)
	}
	abs := p.Configs[0].Absolute("/j/download", "/j/upload").INI()
	if !strings.Contains(abs, "in_dir = /j/download/inputs\n") || !strings.Contains(abs, "out_dir = /j/upload/outputs\n") {
		t.Errorf("absolute copy:\n%s", abs)
	}
	if got := p.Configs[1].INI(); got != "[PROJECT]\nruntime = 2\nfailure = 0\n[OUTPUTS]\nout_dir = outputs/\n" {
		t.Errorf("config_2 without INPUTS:\n%s", got)
	}
}

func TestPlanErrors(t *testing.T) {
	cases := []struct {
		name string
		vs   []variation
		want string
	}{
		{"count too high", []variation{replace(`"value": "3"`, `"value": "4"`)}, "proxymod configuration 'config_4' not found"},
		{"count not a number", []variation{replace(`"value": "3"`, `"value": "three"`)}, `proxymod.configs_count must be a positive integer, not "three"`},
		{"count zero", []variation{replace(`"value": "3"`, `"value": "0"`)}, "must be a positive integer"},
		{"unknown header", []variation{replace(`proxymod.config_2.PROJECT.failure`, `proxymod.config_2.EXTRA.failure`)},
			`proxymod configuration 'config_2' is invalid: unknown header "EXTRA"`},
		{"unknown key", []variation{replace(`proxymod.config_3.PROJECT.failure`, `proxymod.config_3.PROJECT.fail`)},
			`proxymod configuration 'config_3' is invalid: unknown key "fail" in PROJECT`},
		{"header missing a key", []variation{replace(`proxymod.config_1.INPUTS.in_file_two`, `proxymod.config_1.OTHER.in_file_two`)},
			"proxymod configuration 'config_1' is invalid"},
		{"out_dir escapes", []variation{replace(`"value": "outputs/"`, `"value": "../outputs/"`)},
			`proxymod configuration 'config_1' is invalid: OUTPUTS.out_dir "../outputs/" must not contain '..'`},
		{"out_dir absolute", []variation{replace(`"value": "outputs/"`, `"value": "/tmp/outputs"`)},
			"must be a relative path"},
		{"input missing", []variation{replace(`"name": "in_file_two.csv"`, `"name": "other.csv"`)},
			"proxymod input file 'inputs/in_file_two.csv' (config_1.INPUTS.in_file_two) is not in the upload"},
		{"model name not an identifier", []variation{replace(`"name": "loose_coupling.py"`, `"name": "loose-coupling.py"`)},
			"proxymod model for file 'models/loose-coupling.py' is invalid"},
		{"no model", []variation{replace(`"mimetype": "text/x-python"`, `"mimetype": "text/plain"`)}, "no proxymod model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewPlan(sampleIngest(t, c.vs...))
			var pe *PlanError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want a PlanError containing %q", err, c.want)
			}
		})
	}
}

func TestFirstOccurrenceWins(t *testing.T) {
	in := sampleIngest(t)
	in.KeyValues = append(in.KeyValues, event.KeyValue{Key: "proxymod.config_1.PROJECT.runtime", Value: event.NewValue("99")})
	p, err := NewPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Configs[0].Get("PROJECT", "runtime"); v != "2" {
		t.Errorf("runtime %q, want the first occurrence 2", v)
	}
}

// python returns the interpreter for the stand-in, failing when there is none.
func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run the models:", err)
	}
	return p
}

func standInEnv(t *testing.T) []string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "..", "testdata", "proxymod", "python"))
	if err != nil {
		t.Fatal(err)
	}
	return []string{"PYTHONPATH=" + abs, "PROXYMOD_SLEEP_SCALE=0"}
}

// runSample runs the sample plan with the given model sources (name -> code) and returns
// the upload directory and the error.
func runSample(t *testing.T, models map[string]string) (string, error) {
	t.Helper()
	p, err := NewPlan(sampleIngest(t))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	down, up, work := filepath.Join(root, "download"), filepath.Join(root, "upload"), filepath.Join(root, "run")
	for _, d := range []string{down, up, work, filepath.Join(down, "models"), filepath.Join(down, "inputs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var keep []Model
	for _, m := range p.Models {
		src, ok := models[m.Function]
		if !ok {
			continue
		}
		keep = append(keep, m)
		if err := os.WriteFile(filepath.Join(down, "models", m.File.Name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"in_file_one.csv", "in_file_two.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod-event", "data", "inputs", n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(down, "inputs", n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	configs, err := WriteConfigs(p, down, up, filepath.Join(work, "configs"))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	err = RunModels(context.Background(), RunConfig{Python: python(t), Env: standInEnv(t), Dir: up, WorkDir: work,
		Stdout: &stdout, Stderr: &stderr}, keep, down, configs)
	if err := os.WriteFile(filepath.Join(root, "stderr"), []byte(stderr.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return up, err
}

func modelSource(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "proxymod", "models", name+".py"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunModelsThreeCouplings(t *testing.T) {
	up, err := runSample(t, map[string]string{
		"loose_coupling":        modelSource(t, "loose_coupling"),
		"tight_coupling":        modelSource(t, "tight_coupling"),
		"tight_coupling_twoway": modelSource(t, "tight_coupling_twoway"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		"config_1.ini", "config_2.ini", "config_3.ini",
		"outputs/model_3_outputs/output1_model_3_2010_2100.csv",              // loose
		"outputs/model_3_outputs/output2_model_3_2025.csv",                   // tight
		"outputs/model_3_feedback_outputs/output1_model_3_feedback_2020.csv", // two-way
	} {
		if _, err := os.Stat(filepath.Join(up, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(up, "outputs", "model_1_outputs", "output1_model_1_2010.csv"))
	if string(b) != "year,value\n2010,0.7071067811865476\n" {
		t.Errorf("model 1 output for 2010: %q (sqrt(0.5) printed as Python prints floats)", b)
	}
}

func TestRunModelsFailures(t *testing.T) {
	cases := []struct {
		name, src, reason string
	}{
		{"raises", "def loose_coupling(*configs):\n    raise ValueError('bad input')\n", "ValueError: bad input"},
		{"no function", "def other(*configs):\n    pass\n", "it defines no function 'loose_coupling'"},
		{"syntax error", "def loose_coupling(:\n", "cannot be loaded: SyntaxError"},
		{"exits", "import sys\ndef loose_coupling(*configs):\n    sys.exit(4)\n", "it exited with status 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runSample(t, map[string]string{"loose_coupling": c.src})
			var me *ModelError
			if !errors.As(err, &me) || me.File != "models/loose_coupling.py" || !strings.Contains(me.Reason, c.reason) {
				t.Fatalf("error %v, want a ModelError for models/loose_coupling.py with %q", err, c.reason)
			}
			if !strings.HasPrefix(err.Error(), "proxymod model for file 'models/loose_coupling.py' is invalid: ") {
				t.Errorf("message %q", err)
			}
		})
	}
}
