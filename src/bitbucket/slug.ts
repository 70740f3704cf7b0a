// Bitbucket Cloud's rule for repository slugs, one for the resolvers and the pages (it imports nothing).

/**
 * As Bitbucket Cloud's support page "What is a repository slug?" gives it: at most 62
 * of letters, digits, "_", "-" and "."; a first "_" or "." is allowed; a "-" neither
 * starts nor ends a slug nor follows another, unless the slug is all dashes.
 * Lower-case: not on that page; Bitbucket's own 400 says so ("Slugs must be lowercase,
 * alphanumerical, and may also contain underscores, dashes, or dots", as quoted in
 * SharpBucket pull request #70).
 */
export function isRepositorySlug(slug: string): boolean {
  return /^[a-z0-9._-]{1,62}$/.test(slug) && (/^-+$/.test(slug) || !/^-|-$|--/.test(slug));
}

/** What isRepositorySlug asks, for a person. */
export const REPOSITORY_SLUG_RULE = 'up to 62 lower-case letters, digits, dots, hyphens or underscores, a hyphen neither first, last nor doubled';
