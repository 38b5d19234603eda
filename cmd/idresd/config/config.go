// Package config layers idresd's settings: command-line flags win over
// IDRESD_* environment variables, which win over a TOML config file. Every
// flag is a key, so a new flag is configurable everywhere without code here.
// Unknown keys, in the file or the environment, are errors naming the key.
package config

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// EnvPrefix starts every environment variable that configures idresd.
const EnvPrefix = "IDRESD_"

// EnvName is the environment variable of a flag: "dns-zone" -> IDRESD_DNS_ZONE.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Source says where a setting's effective value came from.
type Source string

const (
	FromDefault Source = "default"
	FromFile    Source = "file"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// Apply fills flags of fs that were not given on the command line, first
// from the environment, then from the TOML file at path (if path != "").
// fs must already be parsed. It returns where each flag's value came from.
// skip names flags that are not settings (e.g. "config" itself).
func Apply(fs *flag.FlagSet, path string, environ []string, skip ...string) (map[string]Source, error) {
	src := map[string]Source{}
	fs.VisitAll(func(f *flag.Flag) { src[f.Name] = FromDefault })
	fs.Visit(func(f *flag.Flag) { src[f.Name] = FromFlag })
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	settable := func(name string) bool { return fs.Lookup(name) != nil && !skipped[name] }

	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		env[k] = v
	}
	byEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if settable(f.Name) {
			byEnv[EnvName(f.Name)] = f.Name
		}
	})
	for _, k := range sortedKeys(env) {
		name, ok := byEnv[k]
		if !ok {
			return nil, fmt.Errorf("environment variable %s: unknown setting (no flag --%s)", k, flagNameOfEnv(k))
		}
		if src[name] == FromFlag {
			continue
		}
		if err := fs.Set(name, env[k]); err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", k, err)
		}
		src[name] = FromEnv
	}

	if path == "" {
		return src, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	var file map[string]any
	if _, err := toml.Decode(string(raw), &file); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for _, key := range sortedKeys(file) {
		if !settable(key) {
			return nil, fmt.Errorf("config %s: unknown key %q", path, key)
		}
		if src[key] == FromFlag || src[key] == FromEnv {
			continue
		}
		val, err := scalar(file[key])
		if err != nil {
			return nil, fmt.Errorf("config %s: key %q: %w", path, key, err)
		}
		if err := fs.Set(key, val); err != nil {
			return nil, fmt.Errorf("config %s: key %q: %w", path, key, err)
		}
		src[key] = FromFile
	}
	return src, nil
}

// scalar renders a TOML value as flag text; a list becomes a comma list,
// which is how list flags (e.g. --root) are spelled on the command line.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int64, float64:
		return fmt.Sprint(x), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := scalar(e)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("unsupported value of type %T (use a string, number, boolean or list)", v)
}

// secretWords mark flags whose values must never be printed.
var secretWords = []string{"token", "secret", "password", "passwd", "key"}

// IsSecret reports whether a flag holds a secret (or a path to one) and
// must be masked when printed. Paths are masked too: cheap caution.
func IsSecret(name string) bool {
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// Print writes the effective configuration as TOML, with where each value
// came from as a comment, and secrets masked.
func Print(fs *flag.FlagSet, src map[string]Source, skip ...string) string {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	var b strings.Builder
	b.WriteString("# effective idresd configuration (flags > IDRESD_* env > file > default)\n")
	fs.VisitAll(func(f *flag.Flag) {
		if skipped[f.Name] {
			return
		}
		val := f.Value.String()
		if IsSecret(f.Name) && val != "" {
			val = "********"
		}
		fmt.Fprintf(&b, "%s = %q # %s\n", f.Name, val, src[f.Name])
	})
	return b.String()
}

func flagNameOfEnv(k string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, EnvPrefix), "_", "-"))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
