import { z } from 'zod';

/** Kubernetes `LabelSelectorRequirement` operators. */
export const labelSelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelSelectorOperator = (typeof labelSelectorOperators)[number];

const labelSelectorRequirementSchema = z
  .object({
    key: z.string().min(1),
    operator: z.enum(labelSelectorOperators),
    values: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((requirement, context) => {
    // Same rules as Kubernetes' LabelSelectorAsSelector, so a selector valid for kubectl is valid here.
    const count = requirement.values?.length ?? 0;
    if ((requirement.operator === 'In' || requirement.operator === 'NotIn') && count === 0) {
      context.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${requirement.operator} needs at least one value`,
      });
    }
    if ((requirement.operator === 'Exists' || requirement.operator === 'DoesNotExist') && count > 0) {
      context.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${requirement.operator} takes no values`,
      });
    }
  });

/**
 * A Kubernetes `metav1.LabelSelector`: every `matchLabels` pair and every `matchExpressions`
 * requirement must hold (AND). An empty selector matches everything, as in Kubernetes.
 */
export const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string().min(1), z.string()).optional(),
    matchExpressions: z.array(labelSelectorRequirementSchema).optional(),
  })
  .strict();
export type LabelSelector = z.output<typeof labelSelectorSchema>;

type LabelPredicate = (labels: Readonly<Record<string, string>>) => boolean;

function requirementPredicate(
  key: string,
  operator: LabelSelectorOperator,
  values: ReadonlyArray<string>,
): LabelPredicate {
  const allowed = new Set(values);
  switch (operator) {
    case 'In':
      return (labels) => Object.hasOwn(labels, key) && allowed.has(labels[key] as string);
    case 'NotIn':
      // Kubernetes: an endpoint without the label satisfies NotIn.
      return (labels) => !Object.hasOwn(labels, key) || !allowed.has(labels[key] as string);
    case 'Exists':
      return (labels) => Object.hasOwn(labels, key);
    case 'DoesNotExist':
      return (labels) => !Object.hasOwn(labels, key);
  }
}

/** Compiles a selector once into a predicate over an endpoint's labels. */
export function compileLabelSelector(selector: LabelSelector): LabelPredicate {
  const predicates: LabelPredicate[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    predicates.push(requirementPredicate(key, 'In', [value]));
  }
  for (const requirement of selector.matchExpressions ?? []) {
    predicates.push(requirementPredicate(requirement.key, requirement.operator, requirement.values ?? []));
  }
  return (labels) => {
    for (const predicate of predicates) if (!predicate(labels)) return false;
    return true;
  };
}
