/// # PlazaApps — the apps this binary hosts
///
/// The one list the executable (and the whole-system tests) put in `PlazaConfig.apps` before `Plaza.open`.
/// Adding an app is its target under `Sources/Apps/` (and its tests under `Tests/<App>Tests`) and one line here;
/// the core knows none of them.
import AppHost
import Marketplace

public enum PlazaApps {
    public static let all: [any PlazaApp.Type] = [
        MarketplaceApp.self
    ]
}
