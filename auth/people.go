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
	RoleAdmin      = "admin"
)

// Person is someone who may sign in.
type Person struct {
	ID   string
	Name string
	Role string
	// Phone is a staff member's own softphone (config StaffMember.Phone),
	// rung when they listen to a conversation; "" for none.
	Phone string
	hash  string // a PBKDF2 hash from the config
	mac   []byte // or the HMAC of a secret from the environment
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

// FromConfig lists the config's operators and staff with their roles and
// secrets: the config's secret_hash, or SecretEnv(id) in env. One with neither cannot
// sign in (reported in the second return, as a warning); a bad hash or a
// weak secret is an error: nobody should run with it.
func FromConfig(cfg *config.Config, env Env) (*People, []string, error) {
	p := &People{byID: map[string]Person{}}
	var missing []string
	type cred struct{ id, name, role, hash, phone string }
	var creds []cred
	for _, op := range cfg.Operators {
		creds = append(creds, cred{op.ID, op.Name, RoleOperator, op.SecretHash, ""})
	}
	for _, st := range cfg.Staff {
		creds = append(creds, cred{st.ID, st.Name, st.Role, st.SecretHash, st.Phone})
	}
	for _, c := range creds {
		per, ok, err := person(c.id, c.name, c.role, c.hash, env)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			missing = append(missing, c.id)
			continue
		}
		per.Phone = c.phone
		p.byID[c.id] = per
	}
	sort.Strings(missing)
	return p, missing, nil
}

// person is one person's credential: a PBKDF2 hash from the config, or
// else a secret from the environment; ok false when there is neither.
func person(id, name, role, hash string, env Env) (Person, bool, error) {
	if hash != "" {
		if err := ValidHash(hash); err != nil {
			return Person{}, false, fmt.Errorf("%s %s: secret_hash: %w", role, id, err)
		}
		return Person{ID: id, Name: name, Role: role, hash: hash}, true, nil
	}
	s := env(SecretEnv(id))
	if s == "" {
		return Person{}, false, nil
	}
	if err := CheckSecret(s); err != nil {
		return Person{}, false, fmt.Errorf("%s %s: %s: %w", role, id, SecretEnv(id), err)
	}
	return Person{ID: id, Name: name, Role: role, mac: macOf(s)}, true, nil
}

// Rank orders roles by what they may do.
func Rank(role string) int {
	switch role {
	case RoleOperator:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
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
