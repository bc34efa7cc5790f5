package app

import "github.com/hotline-acd/hotline/router"

// LocalRouter is this process's router of the application (its own or
// one taken over; nil if none): tests wait on a takeover with it.
func (a *App) LocalRouter(app string) *router.Router { return a.localRouter(app) }
