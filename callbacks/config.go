package callbacks

import "github.com/hotline-acd/hotline/config"

// FromConfig turns one topic's configured callback rules (config.Config's
// CallbackRules(topic)) into the store's Rules, with the centre's country
// code and business hours (cfg.Centre.CountryCode, cfg.Hours). It is the
// only builder of a topic's Rules: hotline's app calls it with the config in
// force.
func FromConfig(r config.CallbackRules, countryCode string, hours Calendar) Rules {
	out := Rules{
		Numbers:     NumberRules{CountryCode: countryCode, Allow: r.Allow, Deny: r.Deny},
		MaxAttempts: r.MaxAttempts,
		Expiry:      r.Expiry.D(),
		Bias:        r.Bias.D(),
		Calendar:    hours,
	}
	for _, d := range r.Delays {
		out.Delays = append(out.Delays, d.D())
	}
	return out
}
