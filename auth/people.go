package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/hotline-acd/hotline/config"
)

// Roles.
const (
	RoleOperator   = "operator"
	RoleSupervisor = "supervisor"
)

// Person is someone who may sign in.
type Person struct {
	ID   string
	Name string
	Role string
	hash string // a PBKDF2 hash from the config
	mac  []byte // or the HMAC of a secret from the environment
}

// People are those who may sign in, by id.
type People struct {
	byID map[string]Person
}

// Env reads an environment variable (os.Getenv in production).
type Env func(string) string

// SecretEnv is the variable that may give person id's secret in clear
// text (hashed at start): HOTLINE_SECRET_<ID>, the id upper-cased with
// "-" and "." as "_".
func SecretEnv(id string) string {
	return "HOTLINE_SECRET_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(id))
}

// FromConfig lists the config's operators with their secrets: the
// config's secret_hash, or SecretEnv(id) in env. One with neither cannot
// sign in (reported in the second return, as a warning); a bad hash or a
// weak secret is an error: nobody should run with it.
func FromConfig(cfg *config.Config, env Env) (*People, []string, error) {
	p := &People{byID: map[string]Person{}}
	var missing []string
	for _, op := range cfg.Operators {
		h := op.SecretHash
		if h != "" {
			if err := ValidHash(h); err != nil {
				return nil, nil, fmt.Errorf("operator %s: secret_hash: %w", op.ID, err)
			}
		} else if s := env(SecretEnv(op.ID)); s != "" {
			// The environment holds it in clear anyway: a keyed hash with
			// this process's own key keeps it out of memory at no cost,
			// where PBKDF2 would cost every start a second per operator.
			if err := CheckSecret(s); err != nil {
				return nil, nil, fmt.Errorf("operator %s: %s: %w", op.ID, SecretEnv(op.ID), err)
			}
			p.byID[op.ID] = Person{ID: op.ID, Name: op.Name, Role: RoleOperator, mac: macOf(s)}
			continue
		} else {
			missing = append(missing, op.ID)
			continue
		}
		p.byID[op.ID] = Person{ID: op.ID, Name: op.Name, Role: RoleOperator, hash: h}
	}
	sort.Strings(missing)
	return p, missing, nil
}

// Add adds or replaces a person with a secret already hashed.
func (p *People) Add(per Person, hash string) error {
	if err := ValidHash(hash); err != nil {
		return fmt.Errorf("person %s: %w", per.ID, err)
	}
	per.hash = hash
	if p.byID == nil {
		p.byID = map[string]Person{}
	}
	p.byID[per.ID] = per
	return nil
}

// Check returns the person whose id and secret these are. A wrong id
// costs as much as a wrong secret, so ids cannot be probed by timing.
func (p *People) Check(id, secret string) (Person, bool) {
	per, ok := p.byID[id]
	if !ok {
		Verify(decoyHash(), secret)
		return Person{}, false
	}
	if per.mac != nil {
		if !hmac.Equal(per.mac, macOf(secret)) {
			return Person{}, false
		}
		return per, true
	}
	if !Verify(per.hash, secret) {
		return Person{}, false
	}
	return per, true
}

// macKey is this process's key for secrets from the environment.
var macKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on a working system
	}
	return k
}()

func macOf(secret string) []byte {
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Get returns person id.
func (p *People) Get(id string) (Person, bool) {
	per, ok := p.byID[id]
	return per, ok
}

// decoyHash is verified against for unknown ids; made on first use, so
// a process that signs nobody in does not pay for it.
var decoyHash = sync.OnceValue(func() string {
	h, err := hashWith("decoy-secret-never-matches", HashIterations)
	if err != nil {
		panic(err) // only crypto/rand failing
	}
	return h
})
