/** How a stored record's schema problems read in a message. */

import type { z } from "./deps.ts";

/**
 * The first three problems of a record that failed its schema, as `path: rule` joined by `; `;
 * a problem of the whole record is named `whole`.
 */
export function describeIssues(error: z.ZodError, whole: string): string {
  return error.issues.slice(0, 3).map((i) => `${i.path.join(".") || whole}: ${i.message}`)
    .join("; ");
}
