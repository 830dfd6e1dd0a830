package server

import "github.com/gofiber/fiber/v2"

// syncRoutes registers the reviewers' sync API under /api/v1/ on the restricted app (Restricted
// and Dev call it).
//
// STUB: the sync API lives in sync*.go, written separately; that file defines the real
// syncRoutes, and this stub is deleted in the same change. Until then the restricted app answers
// every request with the 404 page.
func (s *Server) syncRoutes(app *fiber.App) {}
