package cases

import "github.com/hotline-acd/hotline/config"

// OptionsFrom is a Store's Options reading the config in force: cfg is
// called on every lookup, so a reload applies (hotline's app passes its
// (*atomic.Pointer[config.Config]).Load). A nil config knows no service
// and the default categories.
func OptionsFrom(cfg func() *config.Config) Options {
	return Options{
		Categories: func() []string {
			if c := cfg(); c != nil {
				return c.Desk.ComplaintCategories
			}
			return nil
		},
		Services: func(id string) (config.Service, bool) {
			if c := cfg(); c != nil {
				return c.Service(id)
			}
			return config.Service{}, false
		},
	}
}

// WebhooksFrom is a Forwarder's Webhooks lookup reading the config in
// force, as OptionsFrom.
func WebhooksFrom(cfg func() *config.Config) func(serviceID string) (string, bool) {
	return func(id string) (string, bool) {
		c := cfg()
		if c == nil {
			return "", false
		}
		s, ok := c.Service(id)
		return s.Webhook, ok && s.Webhook != ""
	}
}
