package managed

import (
	"errors"
	"testing"

	"github.com/tetherllm/tether/llm"
)

func TestOverridesFromEnv(t *testing.T) {
	env := map[string]string{EnvNoCgroup: "yes"}
	if _, err := OverridesFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Errorf("%s=yes accepted", EnvNoCgroup)
	}
	for _, name := range []string{EnvTemperature, EnvTopP, EnvRepeatPenalty} {
		for _, v := range []string{"NaN", "nan", "Inf", "-Inf", "+Inf", "abc"} {
			env := map[string]string{name: v}
			_, err := OverridesFromEnv(func(k string) string { return env[k] })
			var ce *llm.ConfigError
			if !errors.As(err, &ce) || ce.Setting != name {
				t.Errorf("%s=%s: err = %v, want a ConfigError for %s", name, v, err, name)
			}
		}
	}
	env = map[string]string{EnvTemperature: "0.7", EnvTopP: "1", EnvHTTPTimeout: "5", EnvNoCgroup: "1"}
	o, err := OverridesFromEnv(func(k string) string { return env[k] })
	if err != nil || *o.Temperature != 0.7 || *o.TopP != 1 || o.HTTPTimeout.Seconds() != 5 || !o.NoCgroup {
		t.Fatalf("overrides %+v, err %v", o, err)
	}
}
