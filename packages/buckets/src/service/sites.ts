import { refuse } from "../errors.js";
import type { ServiceContext } from "./context.js";

/**
 * With a workspace, works run only at its sites: checked the same way at deposit and when a PUT
 * moves a work. Without one, any site is taken.
 */
export function requireSite(ctx: ServiceContext, site: string, where: string): void {
  const sites = ctx.workspace?.sites;
  if (sites && !sites.includes(site)) {
    throw refuse(
      "site_refused",
      `${where}.site: "${site}" is not a site of this service; allowed sites: ${sites.join(", ")}`,
    );
  }
}
