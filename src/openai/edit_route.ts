/** Chooses between `/v1/images/edits` and the Responses route, falling back once when needed. */

import type { EditRoute } from "../config.ts";
import type { Api } from "./api.ts";
import { isModelRejectedByEdits } from "./errors.ts";
import {
  type ApiImages,
  type EditFiles,
  editImagesDirect,
  type ImageCallOptions,
  type ImageSettings,
} from "./images.ts";
import { ToolError } from "../errors.ts";
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
    inputs: EditFiles,
    options: ImageCallOptions = {},
  ): Promise<EditResult> {
    if (this.next === "responses" && inputs.markup) {
      throw new ToolError(
        "markup: the Responses edit route takes no markup image, and this server routes edits " +
          "there (GPT_IMAGE_2_EDIT_ROUTE); set GPT_IMAGE_2_EDIT_ROUTE=direct, or use a mask",
      );
    }
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
      if (
        this.mode !== "auto" || inputs.markup || !isModelRejectedByEdits(cause, settings.model)
      ) {
        throw error;
      }
      this.#directRejected = true;
      this.api.log.notice(
        `/v1/images/edits rejected ${settings.model}; using the Responses route for this process`,
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
    inputs: EditFiles,
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
