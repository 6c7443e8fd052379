/** Chooses between `/v1/images/edits` and the Responses route, falling back once when needed. */

import type { EditRoute } from "../config.ts";
import type { Api } from "./api.ts";
import { isModelRejectedByEdits } from "./errors.ts";
import {
  type ApiImages,
  editImagesDirect,
  type ImageCallOptions,
  type ImageSettings,
  type UploadFile,
} from "./images.ts";
import { editImagesViaResponses } from "./responses_edit.ts";

export type RouteName = "direct" | "responses";

/** An edit's images and the route that produced them. */
export interface EditResult extends ApiImages {
  route: RouteName;
  /** Set when this call fell back from the direct endpoint to the Responses route. */
  fellBack: boolean;
}

/** Routes edits for the life of one server process. */
export class EditRouter {
  #directRejected = false;
  constructor(readonly api: Api, readonly mode: EditRoute) {}

  /** The route the next edit will take. */
  get next(): RouteName {
    if (this.mode === "responses" || (this.mode === "auto" && this.#directRejected)) {
      return "responses";
    }
    return "direct";
  }

  /** Runs one edit on the chosen route. */
  async edit(
    settings: ImageSettings,
    inputs: { images: readonly UploadFile[]; mask?: UploadFile },
    options: ImageCallOptions = {},
  ): Promise<EditResult> {
    if (this.next === "responses") {
      return {
        ...(await this.#viaResponses(settings, inputs, options)),
        route: "responses",
        fellBack: false,
      };
    }
    try {
      return {
        ...(await editImagesDirect(this.api, settings, inputs, options)),
        route: "direct",
        fellBack: false,
      };
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      if (this.mode !== "auto" || !isModelRejectedByEdits(cause, this.api.config.model)) {
        throw error;
      }
      this.#directRejected = true;
      this.api.log.notice(
        `/v1/images/edits rejected ${this.api.config.model}; using the Responses route for this process`,
      );
      return {
        ...(await this.#viaResponses(settings, inputs, options)),
        route: "responses",
        fellBack: true,
      };
    }
  }

  #viaResponses(
    settings: ImageSettings,
    inputs: { images: readonly UploadFile[]; mask?: UploadFile },
    options: ImageCallOptions,
  ): Promise<ApiImages> {
    return editImagesViaResponses(
      this.api,
      { ...settings, n: 1, partialImages: 0 },
      inputs,
      options,
    );
  }
}
