import AppHost
import PlazaApps

/// What these whole-system tests run with: the core and every app the binary hosts.
let everyApp = AppList(PlazaApps.all)
