/** Limits on input images that the tools' schemas state and the input reader enforces. */

/** The most reference images one edit takes. */
export const MAX_INPUTS = 8;
